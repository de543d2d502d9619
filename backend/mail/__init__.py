"""Mail format only: parsing raw messages, decoding headers and addresses, unwrapping forwards, spotting automatic mail."""
