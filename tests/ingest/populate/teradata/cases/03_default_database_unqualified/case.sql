INSERT INTO DW.Cust_Dim (cust_id, cust_nm, region_cd)
SELECT cust_id, cust_nm, region_cd FROM Cust WHERE status_cd = 'A';
