module github.com/closecast/closecast

go 1.26.8
