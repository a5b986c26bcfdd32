INSERT INTO DW.Ord_Fact (ord_id, cust_id, amt)
SELECT ord_id, cust_id,
       SUM(amt) OVER (PARTITION BY cust_id ORDER BY ord_dt ROWS UNBOUNDED PRECEDING)
FROM SRC.Ord;
