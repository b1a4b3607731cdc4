module starling.bench/wsload

go 1.21
