"""The queue's pure logic: priority (a total order) and the pool's arithmetic. No Django."""
