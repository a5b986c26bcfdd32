INSERT INTO DW.Ord_Fact (ord_id, cust_id, amt)
SELECT o.ord_id, c.cust_id, o.amt
FROM SRC.Ord o
LEFT JOIN SRC.Cust c ON c.cust_id = o.cust_id AND c.status_cd = 'A';
