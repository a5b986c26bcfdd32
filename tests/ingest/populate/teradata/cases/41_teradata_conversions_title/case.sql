INSERT INTO DW.Ord_Fact (ord_id, ord_dt, amt)
SELECT ord_id (TITLE 'Order'),
       CAST(ord_dt AS CHAR(10)) (DATE, FORMAT 'YYYY-MM-DD'),
       amt (DECIMAL(18,2))
FROM SRC.Ord;
