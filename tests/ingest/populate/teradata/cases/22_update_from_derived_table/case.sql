UPDATE c
FROM DW.Cust_Stat c,
     (SELECT cust_id, SUM(amt) AS s FROM SRC.Ord GROUP BY cust_id) x
SET lifetime_amt = x.s
WHERE c.cust_id = x.cust_id;
