INSERT INTO DW.Prod_Dim (prod_id, prod_nm, cat_cd, price)
SELECT prod_id, prod_nm, cat_cd, price FROM SRC.Prod;
