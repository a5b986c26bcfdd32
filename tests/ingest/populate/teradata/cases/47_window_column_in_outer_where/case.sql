INSERT INTO DW.Ord_Fact (ord_id, amt)
WITH r AS (
  SELECT ord_id, amt, ROW_NUMBER() OVER (PARTITION BY cust_id ORDER BY amt DESC) AS rn FROM SRC.Ord
)
SELECT ord_id, amt FROM r WHERE rn <= 3;
