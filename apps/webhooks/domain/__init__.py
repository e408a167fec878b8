"""The webhook's pure logic: reading bodies, formats, symbols, access and freshness."""
