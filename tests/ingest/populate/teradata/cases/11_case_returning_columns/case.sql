INSERT INTO DW.Cust_Dim (cust_id, cust_nm)
SELECT cust_id, CASE WHEN status_cd = 'D' THEN email ELSE cust_nm END FROM SRC.Cust;
