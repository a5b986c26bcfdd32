MERGE INTO DW.Cust_Stat AS t
USING (SELECT cust_id, MAX(ord_dt) AS d, SUM(amt) AS s FROM SRC.Ord GROUP BY cust_id) AS x
ON t.cust_id = x.cust_id
WHEN MATCHED THEN UPDATE SET last_ord_dt = x.d, lifetime_amt = t.lifetime_amt + x.s
WHEN NOT MATCHED THEN INSERT VALUES (x.cust_id, x.d, x.s, 'N');
