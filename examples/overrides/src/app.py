print('hello from the dev bind mount')
