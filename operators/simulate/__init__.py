"""operators/simulate"""
