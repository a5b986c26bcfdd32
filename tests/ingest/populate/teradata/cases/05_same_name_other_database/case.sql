INSERT INTO DW.Ord_Fact (ord_id, amt) SELECT o.ord_id, o.amt FROM Ord o;
