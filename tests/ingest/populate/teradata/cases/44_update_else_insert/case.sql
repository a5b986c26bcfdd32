UPDATE DW.Cust_Stat SET tier_cd = 'G' WHERE cust_id = 42
ELSE INSERT INTO DW.Cust_Stat (cust_id, tier_cd) VALUES (42, 'G');
