INSERT INTO DW.Sales (cust_id, ord_dt, total_amt, ord_cnt)
SELECT cust_id, ord_dt, SUM(amt), COUNT(ord_id) FROM SRC.Ord GROUP BY cust_id, ord_dt;
