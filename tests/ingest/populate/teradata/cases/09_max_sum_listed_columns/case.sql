INSERT INTO DW.Cust_Stat (cust_id, last_ord_dt, lifetime_amt)
SELECT cust_id, MAX(ord_dt), SUM(amt) FROM SRC.Ord GROUP BY cust_id;
