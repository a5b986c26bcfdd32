INSERT INTO DW.Cust_Stat (cust_id, last_ord_dt)
SELECT c.cust_id,
       (SELECT MAX(o.ord_dt) FROM SRC.Ord o WHERE o.cust_id = c.cust_id AND o.status_cd = 'C')
FROM SRC.Cust c;
