INSERT INTO DW.Cust_Dim (cust_id, region_cd)
WITH x AS (
  SELECT cust_id, CASE WHEN region_cd IS NULL THEN 'NA' ELSE region_cd END AS r FROM SRC.Cust
)
SELECT cust_id, r FROM x;
