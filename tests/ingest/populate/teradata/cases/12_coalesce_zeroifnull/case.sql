INSERT INTO DW.Ord_Fact (ord_id, amt, prod_cnt)
SELECT ord_id, ZEROIFNULL(amt), COALESCE(qty, 0) FROM SRC.Ord;
