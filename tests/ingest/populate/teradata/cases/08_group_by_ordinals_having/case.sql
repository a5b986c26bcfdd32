INSERT INTO DW.Sales
SELECT cust_id, ord_dt, SUM(amt), COUNT(*)
FROM SRC.Ord
WHERE status_cd <> 'X'
GROUP BY 1, 2
HAVING SUM(amt) > 100;
