INSERT INTO DW.Prod_Dim (prod_id, prod_nm)
SELECT s.prod_id, s.prod_nm FROM SRC.Prod s
WHERE NOT EXISTS (SELECT 1 FROM DW.Prod_Dim d WHERE d.prod_id = s.prod_id);
