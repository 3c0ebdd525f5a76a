"""peppers/io"""
