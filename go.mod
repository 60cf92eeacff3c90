module github.com/rumorproject/rumor

go 1.26
