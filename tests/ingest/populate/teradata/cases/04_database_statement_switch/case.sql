DATABASE SRC;
INSERT INTO DW.Prod_Dim SELECT prod_id, prod_nm, cat_cd, price FROM Prod;
