CREATE VIEW MART.V_Cust (customer_id, customer_name, region) AS
SELECT cust_id, cust_nm, region_cd FROM DW.Cust_Dim WHERE region_cd <> 'XX';
