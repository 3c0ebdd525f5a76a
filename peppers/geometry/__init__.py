"""peppers/geometry"""
