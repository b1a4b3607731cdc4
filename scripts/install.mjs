console.log("install placeholder")
