UPDATE t
FROM DW.Cust_Stat t
SET tier_cd = (SELECT MAX(c.region_cd) FROM SRC.Cust c WHERE c.cust_id = t.cust_id);
