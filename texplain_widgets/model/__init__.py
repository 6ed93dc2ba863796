"""The TExplain method: frozen classifier, translator, frozen language model, sampling."""
