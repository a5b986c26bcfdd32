INSERT INTO DW.Cust_Stat (cust_id, tier_cd)
SELECT cust_id,
       CASE WHEN SUM(amt) > 1000 THEN 'G' WHEN SUM(amt) > 100 THEN 'S' ELSE 'B' END
FROM SRC.Ord GROUP BY cust_id;
