UPDATE DW.Ord_Fact SET amt = amt * 1.1, prod_cnt = prod_cnt + 1 WHERE ord_dt < DATE '2024-01-01';
