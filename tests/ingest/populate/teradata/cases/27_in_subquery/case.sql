INSERT INTO DW.Prod_Dim (prod_id, prod_nm)
SELECT prod_id, prod_nm FROM SRC.Prod
WHERE prod_id IN (SELECT prod_id FROM SRC.Line WHERE qty > 10);
