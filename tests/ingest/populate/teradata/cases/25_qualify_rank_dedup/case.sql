INSERT INTO DW.Cust_Dim (cust_id, cust_nm)
SELECT cust_id, cust_nm FROM SRC.Cust
QUALIFY RANK() OVER (PARTITION BY cust_id ORDER BY created_dt DESC) = 1;
