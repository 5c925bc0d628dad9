package io.lccheckpoint.codec;

class HuffmanEightBitContractTest extends EntropyModeContract {
    @Override
    CodecOptions options() {
        return CodecOptions.paper(8);
    }
}
