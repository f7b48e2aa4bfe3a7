print("regula")
