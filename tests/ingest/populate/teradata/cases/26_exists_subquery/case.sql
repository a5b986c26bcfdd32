INSERT INTO DW.Cust_Dim (cust_id, cust_nm)
SELECT c.cust_id, c.cust_nm FROM SRC.Cust c
WHERE EXISTS (SELECT 1 FROM SRC.Ord o WHERE o.cust_id = c.cust_id AND o.amt > 0);
