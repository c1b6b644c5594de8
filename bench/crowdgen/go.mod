module chat/bench/crowdgen

go 1.19
