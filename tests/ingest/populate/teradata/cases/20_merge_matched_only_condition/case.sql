MERGE INTO DW.Cust_Dim AS d
USING SRC.Cust AS c
ON d.cust_id = c.cust_id
WHEN MATCHED AND c.status_cd = 'A' THEN UPDATE SET cust_nm = c.cust_nm;
