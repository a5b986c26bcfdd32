INSERT INTO DW.Prod_Dim (prod_id, price)
SELECT prod_id, price FROM SRC.Prod ORDER BY price DESC;
