INSERT INTO DW.Sales (cust_id, total_amt)
WITH o AS (SELECT cust_id, amt FROM SRC.Ord WHERE status_cd = 'C'),
     t AS (SELECT cust_id, SUM(amt) AS s FROM o GROUP BY cust_id)
SELECT cust_id, s FROM t;
