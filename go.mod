module github.com/rumorproject/rumor

go 1.26

require github.com/alecthomas/kong v1.17.0

require go.uber.org/goleak v1.3.0
