INSERT INTO DW.Prod_Bak
SELECT p.* FROM DW.Prod_Dim p JOIN SRC.Prod s ON s.prod_id = p.prod_id WHERE s.cat_cd = 'A';
