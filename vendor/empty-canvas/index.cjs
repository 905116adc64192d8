// indexeddbshim only needs canvas to clone image data, which the Matrix crypto store never stores.
throw new Error("canvas is not available in matrix-dma-bridge (vendor/empty-canvas stands in for it): nothing in the bridge should load it");
