package io.lccheckpoint.codec;

class HuffmanTwoBitContractTest extends EntropyModeContract {
    @Override
    CodecOptions options() {
        return CodecOptions.paper(2);
    }
}
