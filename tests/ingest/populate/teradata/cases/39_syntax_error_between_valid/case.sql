INSERT INTO DW.Prod_Dim (prod_id) SELECT prod_id FROM SRC.Prod;
INSERT INTO DW.Cust_Dim (cust_id SELECT cust_id FROM SRC.Cust;
INSERT INTO DW.Ord_Fact (ord_id) SELECT ord_id FROM SRC.Ord;
