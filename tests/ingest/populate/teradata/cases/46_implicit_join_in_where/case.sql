INSERT INTO DW.Ord_Fact (ord_id, cust_id)
SELECT o.ord_id, c.cust_id FROM SRC.Ord o, SRC.Cust c
WHERE o.cust_id = c.cust_id AND c.region_cd = 'EU';
