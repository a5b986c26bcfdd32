INSERT INTO DW.Cust_Dim (cust_id, region_cd)
SELECT cust_id, region_cd FROM SRC.Cust WHERE status_cd = 'A'
UNION
SELECT cust_id, 'XX' FROM SRC.Ord;
