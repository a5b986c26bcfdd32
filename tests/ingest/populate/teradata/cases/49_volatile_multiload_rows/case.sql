CREATE VOLATILE TABLE vt (id INTEGER, amt DECIMAL(18,2)) ON COMMIT PRESERVE ROWS;
INSERT INTO vt (id, amt) SELECT o.ord_id, o.amt FROM SRC.Ord o JOIN SRC.Cust c ON c.cust_id = o.cust_id;
INSERT INTO vt (id) SELECT prod_id FROM SRC.Prod WHERE cat_cd = 'Z';
INSERT INTO DW.Ord_Fact (ord_id, amt) SELECT id, SUM(amt) FROM vt GROUP BY id;
