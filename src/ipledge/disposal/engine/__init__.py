"""Pure rules of disposal (no Django): the proceeds waterfall and the auction's bidding arithmetic."""
