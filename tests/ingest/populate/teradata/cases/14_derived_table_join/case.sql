INSERT INTO DW.Ord_Fact (ord_id, cust_id, prod_cnt)
SELECT o.ord_id, o.cust_id, l.n
FROM SRC.Ord o
JOIN (SELECT ord_id, COUNT(*) AS n FROM SRC.Line GROUP BY ord_id) l
  ON l.ord_id = o.ord_id;
